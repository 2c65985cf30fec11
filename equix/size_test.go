package equix

import "unsafe"

func unsafeSizeof() uintptr { return unsafe.Sizeof(Solver{}) }
