package peers

// VmHWM returns the peak resident set size (VmHWM in /proc/PID/status) of
// a running process, in bytes. Tests that start a program themselves (not
// through a driver here) use it to compare memory with these peers: read
// it before the process is stopped.
func VmHWM(pid int) (int64, error) { return vmHWM(pid) }
