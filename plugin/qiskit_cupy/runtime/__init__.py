"""The runtime: experiments enqueued on a Device step by step, and their results."""
