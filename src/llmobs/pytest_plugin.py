"""pytest plugin (registered through the ``pytest11`` entry point, active once llmobs is installed).

Fixture ``llmobs_capture``: a ``llmobs.testing.Capture`` isolated to one test. Everything llmobs emits during
the test, including through an ``llmobs.instrument()`` call made by the code under test, lands in it, and
llmobs's global state is restored afterwards. Configure it per test with a marker::

    @pytest.mark.llmobs(capture_content=True)
    def test_prompt_is_recorded(llmobs_capture): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import Capture


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        "llmobs(capture_content=False, max_content_length=None): configure the llmobs_capture fixture",
    )


@pytest.fixture
def llmobs_capture(request: Any) -> Iterator[Capture]:
    marker = request.node.get_closest_marker("llmobs")
    options = dict(marker.kwargs) if marker is not None else {}
    cap = Capture(
        capture_content=options.get("capture_content", False),
        max_content_length=options.get("max_content_length"),
    )
    cap.start()
    try:
        yield cap
    finally:
        cap.stop()
