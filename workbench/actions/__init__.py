"""Menus, shortcuts and the user actions behind them (label fixes, folder moves, training
actions, the quit guard, Help)."""
