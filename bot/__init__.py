"""Platform-free engine of the Secondary Teaching for Mastery assistant."""
