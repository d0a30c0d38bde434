"""Publishers: everything one news agency's site needs, one package each."""
