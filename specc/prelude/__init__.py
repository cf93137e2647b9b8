"""The shipped library (prelude) as .spec declarations."""
