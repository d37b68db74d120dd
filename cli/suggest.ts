/** Edit distance (insertions, deletions, substitutions), ignoring case. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    row = next;
  }
  return row[y.length]!;
}

/** The names a mistyped word was most likely meant to be (at most a third of it changed). */
export function closeNames(word: string, names: readonly string[]): string[] {
  const scored = names.map((name) => ({ name, d: distance(word, name) })).filter((s) => s.d <= Math.max(1, Math.floor(word.length / 3)));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.name);
}
