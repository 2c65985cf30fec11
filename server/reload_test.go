package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/powtcp/powtcp/server/powserver"
)

// A reload counts each file that does not parse, and stamps the time of
// one that went through.
func TestReloaderCounts(t *testing.T) {
	dir := t.TempDir()
	keyFile, quotesFile := filepath.Join(dir, "keys"), filepath.Join(dir, "quotes.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("ab", 16)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(quotesFile, []byte("A quote.|Someone\n"), 0o600))
	srv, err := powserver.New(powserver.DefaultConfig(), nil, nil)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	r := newReloader(config{KeyFile: keyFile, QuotesFile: quotesFile}, srv, zap.NewNop(), reg)
	value := func(m prometheus.Metric) float64 {
		var d dto.Metric
		require.NoError(t, m.Write(&d))
		if d.GetCounter() != nil {
			return d.GetCounter().GetValue()
		}
		return d.GetGauge().GetValue()
	}
	r.success.Set(0)
	r.reload()
	assert.Zero(t, value(r.errs))
	assert.Positive(t, value(r.success), "a reload that went through is stamped")

	r.success.Set(0)
	require.NoError(t, os.WriteFile(keyFile, []byte("not hex\n"), 0o600))
	require.NoError(t, os.WriteFile(quotesFile, []byte("no author\n"), 0o600))
	r.reload()
	assert.Equal(t, 2.0, value(r.errs), "each file that does not parse")
	assert.Zero(t, value(r.success))
}
