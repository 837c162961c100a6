package bench

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// machineBusy is the CPU time the whole machine has spent busy (user,
// system, interrupts; not idle, I/O wait or steal) since boot, from
// /proc/stat; false where there is none. Pulse and PostgreSQL share the
// machine, so busy time over a phase is what both spent on it: a measure
// of work that, unlike a rate, does not move with how well two processes
// happened to overlap.
func machineBusy() (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 8 || string(fields[0]) != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		n, err := strconv.ParseInt(string(fields[i]), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	const userHZ = 100 // USER_HZ, fixed on Linux
	return time.Duration(ticks) * time.Second / userHZ, true
}

// busyDuring runs fn and returns the machine's busy time over it; zero
// when unknown.
func busyDuring(fn func() error) (time.Duration, error) {
	before, ok := machineBusy()
	err := fn()
	after, _ := machineBusy()
	if !ok {
		return 0, err
	}
	return after - before, err
}

// processCPU is the CPU time (user and system) a process has used, from
// /proc/<pid>/stat; false where there is none.
func processCPU(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after it (utime and stime are the 14th and 15th of the line).
	_, rest, ok := bytes.Cut(stat, []byte(") "))
	fields := bytes.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{11, 12} {
		n, err := strconv.ParseInt(string(fields[i]), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	const userHZ = 100
	return time.Duration(ticks) * time.Second / userHZ, true
}

// cpuOf sums processCPU over pids.
func cpuOf(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		cpu, _ := processCPU(pid)
		total += cpu
	}
	return total
}
