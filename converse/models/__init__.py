"""The model seam (``async complete(request) -> response``), the openai backend, the response
cache, structured output, context windows, and the scheduler in front of every call."""
