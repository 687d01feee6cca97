"""The station console: the operator's pages on the edge node (lanes, today, cold rooms,
link), PIN sign-in, and the guards in front of the console and the operator API."""
