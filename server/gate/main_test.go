package gate

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one leaves a goroutine behind:
// every tunnel's relay goroutines must end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
