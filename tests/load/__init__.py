"""A class without browsers: a client that speaks Streamlit's own websocket protocol, the scenario it plays, and
the figures it records (test-artifacts/latency.json). Only 127.0.0.1 is contacted; every wait has a time limit."""
