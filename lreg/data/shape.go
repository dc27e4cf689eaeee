package data

// Shape is a data set's image shape (height, width, channels) by name, known before it is loaded, so that
// settings can be checked against it before any work; ok is false for a name that is not a data set.
func Shape(name string) (height, width, channels int, ok bool) {
	c, err := Canonical(name)
	if err != nil {
		return 0, 0, 0, false
	}
	if c == CIFAR10 {
		return cifarSide, cifarSide, cifarChannels, true
	}
	return 28, 28, 1, true // MNIST and Fashion-MNIST
}
