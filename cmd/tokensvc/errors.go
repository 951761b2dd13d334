package main

import "fmt"

// usageError is a mistake in how the command was called, as opposed to a
// failure while running it; it exits 2, as flag parsing does.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitStatus makes main exit with the status without printing anything
// more: the command has already said what it had to.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageMistake is a usage error that carries the command's usage, which
// run prints on stderr: stdout is for output and for --help only.
type usageMistake struct {
	usageError
	usage string
}

func (e usageMistake) Unwrap() error { return e.usageError }
