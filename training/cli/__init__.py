"""The command line (`python -m training …`): one module per group of commands, all on the
same JSON and exit-code conventions (0 done, 2 bad input, 1 internal error)."""
