"""hfsnap: snapshot the Hugging Face model catalog into SQLite with history."""
