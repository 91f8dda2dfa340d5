"""The commands: `train`, `stylize`, `evaluate`, `animate` (each `main(argv) -> exit
status`), sharing one way to report a bad input (`common`)."""
