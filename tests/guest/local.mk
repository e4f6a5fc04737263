# tests/guest
