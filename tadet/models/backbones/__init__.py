from .frames_data_preprocessor import TADFramesDataPreprocessor  # noqa: F401
