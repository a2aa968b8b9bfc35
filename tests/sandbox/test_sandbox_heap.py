"""Before serving, the sandbox loads the models it validates most and freezes its heap."""

import gc
import sys

from sandbox import validation


def test_settling_loads_the_written_types_and_freezes_what_is_loaded():
    validation._model.cache_clear()
    gc.unfreeze()
    try:
        validation.settle_before_serving(("Claim", "Provenance"))
        assert gc.get_freeze_count() > 0
        assert "fhir.resources.R4B.claim" in sys.modules
        assert validation._model.cache_info().currsize == 2
    finally:
        gc.unfreeze()
