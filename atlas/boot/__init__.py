"""Bare metal: a machine boots, discovers its devices, and gets only their drivers."""
