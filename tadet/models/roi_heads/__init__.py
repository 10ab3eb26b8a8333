from .afsd_refine_head import AFSDRefineHead, afsd_boundary_regions  # noqa: F401
