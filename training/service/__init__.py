"""The compute service: every model job of the app in a child process.

``python -m training.service`` speaks a small versioned protocol of JSON messages over
its stdin/stdout pipes (:mod:`training.service.protocol`, docs/PROTOCOL.md): the app
sends requests, the service answers with progress, partial results, a result or an
error, and takes cancels. It holds every TensorFlow object; the app's process never
imports TensorFlow. Handlers (``training/service/handlers/``, one module per request
type) call the core's functions (inference, export, health, models, trust).

Importing this package is cheap and imports no TensorFlow.
"""
