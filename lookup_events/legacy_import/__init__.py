"""Moving a dtool-lookup-server or dserver deployment over."""
