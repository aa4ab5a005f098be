"""Forgeflow orchestration: the five patterns, state, resilience, cache, batch, monitoring.

Names are imported on first use so that ``import orchestration`` stays cheap.
"""

from __future__ import annotations

from agents.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    # artifacts
    "Envelope": "orchestration.runtime.artifact",
    "ArtifactStatus": "orchestration.runtime.artifact",
    "read_artifact": "orchestration.runtime.artifact",
    "write_artifact": "orchestration.runtime.artifact",
    "digest": "orchestration.runtime.artifact",
    # running agents
    "RunContext": "orchestration.runtime.execution",
    "AgentRun": "orchestration.runtime.execution",
    "execute": "orchestration.runtime.execution",
    # the five patterns
    "incompatibility": "orchestration.patterns.typecheck",
    "SequentialPipeline": "orchestration.patterns.sequential",
    "Stage": "orchestration.patterns.sequential",
    "PipelineResult": "orchestration.patterns.sequential",
    "AgentSession": "orchestration.patterns.sequential",
    "ParallelOrchestrator": "orchestration.patterns.parallel",
    "ParallelResult": "orchestration.patterns.parallel",
    "Event": "orchestration.patterns.event_bus",
    "EventBus": "orchestration.patterns.event_bus",
    "PublishResult": "orchestration.patterns.event_bus",
    "Coordinator": "orchestration.patterns.coordinator",
    "CoordinatorResult": "orchestration.patterns.coordinator",
    "DeterministicPlanner": "orchestration.patterns.coordinator",
    "Plan": "orchestration.patterns.coordinator",
    "PlanStep": "orchestration.patterns.coordinator",
    "Condition": "orchestration.patterns.coordinator",
    "PlanRejected": "orchestration.patterns.coordinator",
    "Planner": "orchestration.patterns.coordinator",
    "validate_plan": "orchestration.patterns.coordinator",
    "FeedbackLoop": "orchestration.patterns.feedback_loop",
    "FixRequest": "orchestration.patterns.feedback_loop",
    "Issue": "orchestration.patterns.feedback_loop",
    "IterationRecord": "orchestration.patterns.feedback_loop",
    "LoopResult": "orchestration.patterns.feedback_loop",
    "ValidationReport": "orchestration.patterns.feedback_loop",
    "AIPlanner": "orchestration.patterns.ai_planner",
    # state
    "StateStore": "orchestration.state.base",
    "open_store": "orchestration.state.open",
    "DirectoryStore": "orchestration.state.directory",
    "SqlStore": "orchestration.state.sql",
    # pipelines from files
    "PipelineSpec": "orchestration.pipeline.file",
    "run_pipeline_file": "orchestration.pipeline.runner",
    "combine_results": "orchestration.combine_results",  # the module (CLI and functions)
    # GitHub: pull-request body state, dispatch chains, matrices
    "PullRequestState": "orchestration.github.pr_state",
    "read_state": "orchestration.github.pr_state",
    "write_state": "orchestration.github.pr_state",
    "remove_state": "orchestration.github.pr_state",
    "user_text": "orchestration.github.pr_state",
    "upsert_sticky_comment": "orchestration.github.pr_state",
    "build_client_payload": "orchestration.github.dispatch",
    "build_matrix": "orchestration.github.matrix",
    # monitoring
    "RunMonitor": "orchestration.runtime.monitoring",
    "RunRecord": "orchestration.runtime.monitoring",
    "configure_logging": "orchestration.runtime.log",
    "write_step_summary": "orchestration.runtime.job_summary",
    "annotate_error": "orchestration.runtime.job_summary",
    # resilience
    "RetryPolicy": "orchestration.resilience.retry",
    "RetryableError": "orchestration.resilience.retry",
    "retry_async": "orchestration.resilience.retry",
    "with_retry": "orchestration.resilience.retry",
    "parse_retry_after": "orchestration.resilience.retry",
    "retry_delay_from_headers": "orchestration.resilience.retry",
    "CircuitBreaker": "orchestration.resilience.circuit_breaker",
    "CircuitOpenError": "orchestration.resilience.circuit_breaker",
    "BreakerState": "orchestration.resilience.circuit_breaker",
    "BreakerStatus": "orchestration.resilience.circuit_breaker",
    "BreakerStore": "orchestration.resilience.circuit_breaker",
    "MemoryBreakerStore": "orchestration.resilience.circuit_breaker",
    "StateStoreBreakerStore": "orchestration.resilience.circuit_breaker",
    # performance
    "ResultCache": "orchestration.runtime.cache",
    "MemoryCache": "orchestration.runtime.cache",
    "DirectoryCache": "orchestration.runtime.cache",
    "CacheError": "orchestration.runtime.cache",
    "cache_key": "orchestration.runtime.cache",
    "run_batch": "orchestration.patterns.batch",
    "run_agent_batch": "orchestration.patterns.batch",
    "BatchItem": "orchestration.patterns.batch",
    "BatchResult": "orchestration.patterns.batch",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__, globals())
