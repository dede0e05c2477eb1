// Command-line options for the peer scripts: `option(name, fallback)` takes `--name value` out of the arguments, so
// what is left are the positional ones.
export function parseOptions(argv = process.argv.slice(2)) {
  const args = [...argv];
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const value = args[i + 1];
    args.splice(i, 2);
    return value;
  };
  return { args, option };
}
