"""The pytest plugin as a user sees it: run a user's test file with pytester."""

from __future__ import annotations


def test_fixture_captures_and_isolates(pytester):
    pytester.makepyfile(
        """
        import pytest
        import llmobs

        def my_app():
            llmobs.instrument()          # the code under test instruments itself
            with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
                call.record_usage(10, 3)

        def test_first(llmobs_capture):
            my_app()
            call = llmobs_capture.assert_llm_call(model="gpt-4o-mini", input_tokens=10, output_tokens=3)
            assert call.cost > 0
            assert len(llmobs_capture.spans) == 1

        def test_second_starts_empty(llmobs_capture):
            assert llmobs_capture.spans == []
            assert not llmobs.is_instrumented()

        def test_readable_diff(llmobs_capture):
            my_app()
            with pytest.raises(AssertionError) as info:
                llmobs_capture.assert_llm_call(model="gpt-4o", input_tokens=11)
            message = str(info.value)
            assert "model: expected 'gpt-4o', got 'gpt-4o-mini'" in message
            assert "input_tokens: expected 11, got 10" in message

        @pytest.mark.llmobs(capture_content=True)
        def test_marker_turns_capture_on(llmobs_capture):
            with llmobs.llm_call(provider="openai", model="m", input_messages="hello") as call:
                pass
            assert "hello" in llmobs_capture.llm_calls()[0].attributes["gen_ai.input.messages"]

        def test_metrics_and_find(llmobs_capture):
            @llmobs.tool
            def t():
                return 1
            t()
            assert llmobs_capture.one(kind="tool").name == "execute_tool t"
            assert llmobs_capture.metric_points("gen_ai.execute_tool.duration", **{"gen_ai.tool.name": "t"})
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_capture_context_manager_restores_state():
    import llmobs
    from llmobs import _runtime, _setup
    from llmobs.testing import capture

    before = (_runtime.peek(), _setup._test_providers, _setup._state)
    with capture() as cap:
        llmobs.instrument()
        with llmobs.llm_call(provider="openai", model="gpt-4o-mini") as call:
            call.record_usage(1, 1)
    assert len(cap.llm_calls()) == 1
    assert (_runtime.peek(), _setup._test_providers, _setup._state) == before


def test_the_tests_content_settings_win_over_the_apps_instrument():
    """The code under test instruments itself (capture off by default, or explicitly): the test's own
    capture_content / max_content_length still apply; without them, the app's choice does."""
    import llmobs
    from llmobs import _setup
    from llmobs.testing import capture

    def app(**kwargs):
        llmobs.instrument(**kwargs)
        with llmobs.llm_call(provider="openai", model="m", input_messages="hello " * 50) as call:
            call.record_usage(1, 1)

    with capture(capture_content=True, max_content_length=40) as cap:
        app(capture_content=False)
        text = cap.llm_calls()[0].attributes["gen_ai.input.messages"]
        assert text.startswith("[{\"role\":\"user\"") and "[llmobs: truncated" in text and len(text) < 120
    assert _setup._test_overrides == {}
    with capture() as cap:
        app()
        assert "gen_ai.input.messages" not in cap.llm_calls()[0].attributes
    with capture() as cap:
        app(capture_content=True)
        assert "hello" in cap.llm_calls()[0].attributes["gen_ai.input.messages"]
