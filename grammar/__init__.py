"""The grammar of .spec files, shipped as package data."""
