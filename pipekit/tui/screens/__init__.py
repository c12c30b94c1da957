"""The TUI's screens, one per file: main (the module tree), module (detail),
settings, wizard (new module), history, run (live log), connections, and the
dialogs they share."""
