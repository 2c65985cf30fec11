package hashx

import "os"

// longTests enables the slow reference comparisons (HASHX_LONG=1).
var longTests = os.Getenv("HASHX_LONG") != ""
