"""The model seam (``async complete(request) -> response``, and ``async embed(request) ->
response`` for a model that embeds texts), the openai backend, the response cache, structured
output, context windows, and the scheduler in front of every call."""

from ._admission import EndpointStatistics as EndpointStatistics
from ._cache import CachedModel as CachedModel
from ._cache import CacheStatistics as CacheStatistics
from ._limits import Limits as Limits
from ._model import CompletionRequest as CompletionRequest
from ._model import CompletionResponse as CompletionResponse
from ._model import Embedder as Embedder
from ._model import EmbeddingRequest as EmbeddingRequest
from ._model import EmbeddingResponse as EmbeddingResponse
from ._model import Hints as Hints
from ._model import Model as Model
from ._model import estimate_prompt_tokens as estimate_prompt_tokens
from ._model import estimate_tokens as estimate_tokens
from ._open import open_model as open_model
from ._person import Person as Person
from ._person import Terminal as Terminal
from ._scheduler import Attempt as Attempt
from ._scheduler import Scheduler as Scheduler
from ._scheduler import SchedulerStatistics as SchedulerStatistics
from ._structured import Structured as Structured
from ._structured import StructuredAttempt as StructuredAttempt
from ._structured import complete_structured as complete_structured
from ._windows import context_window as context_window
from .offline._model import OfflineModel as OfflineModel

__all__ = [
    "Attempt",
    "CacheStatistics",
    "CachedModel",
    "CompletionRequest",
    "CompletionResponse",
    "Embedder",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EndpointStatistics",
    "Hints",
    "Limits",
    "Model",
    "OfflineModel",
    "Person",
    "Scheduler",
    "SchedulerStatistics",
    "Structured",
    "StructuredAttempt",
    "Terminal",
    "complete_structured",
    "context_window",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "open_model",
]
