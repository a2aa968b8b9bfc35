"""Recorded-style response sets imitating vendor servers, and the server that replays them."""
