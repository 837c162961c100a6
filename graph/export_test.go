package graph

// GqlgenLists returns opts with every list left to gqlgen's executor, as
// the reference plainLists is compared with.
func GqlgenLists(opts Options) Options {
	opts.gqlgenLists = true
	return opts
}

// PlainListsTold returns opts with rendered told the type of every list
// plainLists renders.
func PlainListsTold(opts Options, rendered func(typeName string)) Options {
	opts.rendered = rendered
	return opts
}
