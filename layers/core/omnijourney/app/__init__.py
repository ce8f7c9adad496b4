"""What each function does end to end (the handlers call these): profile updates, erasure; and what spans it all."""
