// Strings kept beyond the line they came from.
//
// V8 makes a substring of 13 or more characters a "sliced string" that points into its parent, and a line is itself
// a slice of the chunk it was read in (1 MiB). A queue id, sender or domain kept in a map would keep that whole
// chunk alive: memory would grow with the input. Such strings are copied first.

/** `s` as a string of its own (no reference to the text it was cut from). */
export function own(s: string): string {
  // Concatenation makes a cons string; slicing it flattens it into a new string of length + 1.
  return s.length < 13 ? s : (' ' + s).slice(1);
}
