"""debug_bundle's refusals, before any model is loaded."""

import pytest

from mobilekit.bundle import Bundle
from mobilekit.debug import debug_bundle
from mobilekit.errors import UserError


def test_a_translation_bundle_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(UserError) as err:
        debug_bundle(Bundle(tmp_path, {"task": "translation", "artifacts": []}), cfg=None)
    assert "single-graph" in str(err.value) and "mobilekit verify" in err.value.hint


def test_samples_must_be_positive(tmp_path):
    with pytest.raises(UserError, match="--samples 0"):
        debug_bundle(Bundle(tmp_path, {"task": "image_classification", "artifacts": []}), cfg=None, samples=0)
