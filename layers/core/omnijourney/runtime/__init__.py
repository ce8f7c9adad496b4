"""The journey runtime: triggers in the profile function, guards and sends in the journey-step function."""
