// pidusage ships no types; the benchmark uses only these two calls.
declare module 'pidusage' {
  interface Stat {
    cpu: number;
    memory: number;
    ppid: number;
    pid: number;
    ctime: number;
    elapsed: number;
    timestamp: number;
  }
  function pidusage(pids: number[]): Promise<Record<string, Stat>>;
  namespace pidusage {
    function clear(): void;
  }
  export default pidusage;
}
