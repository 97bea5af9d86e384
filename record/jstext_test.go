package record_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/heraldhq/herald/record"
)

// jsTextCases are bodies whose JavaScript form differs from Go's.
var jsTextCases = []string{
	`{"name":"Tom & Jerry <b>","x":"\u0026 \u003c \u003e"}`,
	"{\"s\":\"line\u2028para\u2029end\"}",
	`{"c":"\u0000\u0001\b\t\n\f\r\u001f\u007f\"\\/"}`,
	`{"n":[1.0,-0,0.1,1e21,1e20,123456789012345678901234,1.5e-7,1e-6,5e-324,1.7976931348623157e308,1e400,-1e400,12345678901234567890]}`,
	`{"b":1,"2":"two","a":{"10":1,"9":2,"01":3,"x":4,"4294967295":5,"4294967294":6}}`,
	`[true,false,null,{"é":"ü","🙂":"\ud83d\ude42"}]`,
	"  {\n \"spaced\" : [ 1 , 2 ] }  ",
	`"just a string"`,
}

// TestJSTextIsWhatJavaScriptWrites: for each case, JSText gives exactly
// what Node's JSON.stringify(JSON.parse(raw)) gives.
func TestJSTextIsWhatJavaScriptWrites(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Node.js is required in CI")
		}
		t.Skip("\n\n*** SKIPPING: no node to compare JSText with\n\n")
	}
	in, _ := json.Marshal(jsTextCases)
	cmd := exec.Command(node, "-e", `const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cases.map(c => JSON.stringify(JSON.parse(c)))));`)
	cmd.Stdin = bytesReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range jsTextCases {
		got, err := record.JSText([]byte(c))
		if err != nil {
			t.Errorf("JSText(%s): %v", c, err)
			continue
		}
		if string(got) != want[i] {
			t.Errorf("JSText(%s)\n got  %s\n want %s", c, got, want[i])
		}
	}
}

func bytesReader(b []byte) *os.File {
	r, w, _ := os.Pipe()
	go func() { _, _ = w.Write(b); w.Close() }()
	return r
}
