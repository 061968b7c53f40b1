"""One module per compute request type (see ``training.service.registry``)."""
