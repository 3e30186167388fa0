from .base import Claim, Extractor
class FemtonicsExtractor(Extractor):
    name="femtonics"; suffixes=(".mesc",)
