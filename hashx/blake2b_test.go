package hashx

import (
	"encoding/hex"
	"testing"
)

func blake2bHex(p *blake2bParams, chunks ...[]byte) string {
	var s blake2bState
	s.init(p)
	for _, c := range chunks {
		s.write(c)
	}
	var out [blake2bMaxSize]byte
	n := s.sum(&out)
	return hex.EncodeToString(out[:n])
}

func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestBLAKE2bRFC7693(t *testing.T) {
	p := &blake2bParams{size: 64}
	// RFC 7693, Appendix A: BLAKE2b-512("abc").
	if got, want := blake2bHex(p, []byte("abc")), "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"; got != want {
		t.Errorf("BLAKE2b-512(abc) = %s, want %s", got, want)
	}
	// BLAKE2b-512 of the empty string (the BLAKE2 reference's KAT).
	if got, want := blake2bHex(p), "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"; got != want {
		t.Errorf("BLAKE2b-512() = %s, want %s", got, want)
	}
}

// The answers below were printed by the C reference's blake2.c (tevador/hashx
// at bba97f9, built outside this repository): the input is bytes 0, 1, 2, ...
// of the given length; salted is HashX's parameter block (salt "HashX v1");
// short adds a 32-byte digest and the personalization "powtcp-test".
func TestBLAKE2bReference(t *testing.T) {
	salted := &blake2bParams{size: 64, salt: hashxSalt}
	short := &blake2bParams{size: 32, salt: hashxSalt}
	copy(short.personal[:], "powtcp-test")
	tests := []struct {
		p    *blake2bParams
		n    int
		want string
	}{
		{&blake2bParams{size: 64}, 127, "b6292669ccd38d5f01caae96ba272c76a879a45743afa0725d83b9ebb26665b731f1848c52f11972b6644f554c064fa90780dbbbf3a89d4fc31f67df3e5857ef"},
		{&blake2bParams{size: 64}, 128, "2319e3789c47e2daa5fe807f61bec2a1a6537fa03f19ff32e87eecbfd64b7e0e8ccff439ac333b040f19b0c4ddd11a61e24ac1fe0f10a039806c5dcc0da3d115"},
		{&blake2bParams{size: 64}, 129, "f59711d44a031d5f97a9413c065d1e614c417ede998590325f49bad2fd444d3e4418be19aec4e11449ac1a57207898bc57d76a1bcf3566292c20c683a5c4648f"},
		{&blake2bParams{size: 64}, 256, "1ecc896f34d3f9cac484c73f75f6a5fb58ee6784be41b35f46067b9c65c63a6794d3d744112c653f73dd7deb6666204c5a9bfa5b46081fc10fdbe7884fa5cbf8"},
		{&blake2bParams{size: 64}, 300, "d9cf5983dc6b34c0fa1f0226926855ad3eccd2bcdcd8f8053b9a80664d33b5afcc32fd21c70ea14f4ef50ca97c3203c4d1803159f0e01bb6cb1d1c83db52b63c"},
		{salted, 0, "92bec5b34777cacade215f8b26bd6a292ad7ad952f4d4c9ec7c11e33277fac0019c4f1867f192dc3fe8de2f4ba7ae4bbd4286f78d5b974c15a032ab29741bda2"},
		{salted, 127, "253d0e4059049c20b02447139d9a2ac40b61f7af66b7d6ab9a7d293865d00d3eba1ff2b8871cd378c85e8f94173e0786b7b377af9438d67a20181b3eeece7cf6"},
		{salted, 128, "f7d59b90955aac519187ca4f0c1c31d31a1b0ec8abd9afed2c74023e7f3727ce3ce7ab96299690b0740ff39dd3ce5ed2efa3f7dffdc741c6be004fde69c730ac"},
		{salted, 129, "7332fbd29fcc38a08f69847b245cdcb34bf86720f35e0913d060a7e8242bf5898fff367e2d762d6c2daedbac9b5c3e6e460cea03e9a541ec810d338bb2597843"},
		{salted, 255, "4c26bfb6da22ec510cfd9e31e937e84f4414b3b189c05f341bed98c49a0530f4acf638f810337b800b154a5d4825db9adcfb25a484e9c848330b402b5a468843"},
		{salted, 256, "70a3f0b5fad15dffee6c576406220724a7d3ad7d69c2d10b682e496aef5ec900e1c4d67d9c07afd1b41bae4ad9e6572974f59def031d2a14e078faa7bb9eeab7"},
		{salted, 300, "92be12e0e5c0b0cc2c21815702f758533cacbdd339b8bfa05c076cf5bfe5b0917f9bec5a5e601415e70f2030e916fe8e24f2240863aeca63c3df806ca8605cee"},
		{short, 0, "49e514a96455938f4f22dd2e81d2d1429f75629371675ab1032b8608961337f4"},
		{short, 128, "9dbfd0aabc86a28fea81ef8a527b2f5c889a305d192212440fd24600647b70ac"},
		{short, 300, "51c5b648a38446fa0795ba87b53fc0b78d31cec7704254777ecc4daf46424b44"},
	}
	for _, tt := range tests {
		in := seqBytes(tt.n)
		if got := blake2bHex(tt.p, in); got != tt.want {
			t.Errorf("size %d salt %q personal %q, %d bytes: got %s, want %s", tt.p.size, tt.p.salt, tt.p.personal, tt.n, got, tt.want)
		}
		// The same input written in uneven pieces.
		if tt.n > 0 {
			a, b := in[:tt.n/3], in[tt.n/3:]
			if got := blake2bHex(tt.p, a, nil, b); got != tt.want {
				t.Errorf("%d bytes in pieces: got %s, want %s", tt.n, got, tt.want)
			}
		}
	}
}
