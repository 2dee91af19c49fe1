/**
 * Ctrl-C for long commands: the first SIGINT asks the command to stop
 * cleanly (finish what is in flight, print the summary); a second one quits
 * at once.
 */
export function onInterrupt(stop: () => void): () => void {
  let asked = false;
  const handler = () => {
    if (asked) process.exit(130);
    asked = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
