package keys

// Directions spells, in the edge's words, what keys tells an operator to
// do: where a key's public PEM is served and the command that takes a step
// on a key. keys decides what must be done; the edge (internal/httpapi,
// which owns the routes and speaks for the CLI) says how it is spelled, so
// keys knows no route and no command. It is given to NewRotator and
// LogChange; nil words the messages without a route or command (tests).
type Directions interface {
	// PEMPath is where kid's public PEM is served.
	PEMPath(kid string) string
	// Command is the command line that runs step ("activate", "confirm")
	// on kid.
	Command(step, kid string) string
}

// plainDirections stands in for nil Directions.
type plainDirections struct{}

func (plainDirections) PEMPath(kid string) string       { return "the public PEM of " + kid }
func (plainDirections) Command(step, kid string) string { return step + " " + kid }

// orPlain returns d, or plainDirections when d is nil.
func orPlain(d Directions) Directions {
	if d == nil {
		return plainDirections{}
	}
	return d
}
