// The baseline of the start-up benchmark: a Deno process that does nothing.
