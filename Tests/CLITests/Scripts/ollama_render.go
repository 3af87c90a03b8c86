// Renders a conversation as Ollama would before it runs a model: the Modelfile's TEMPLATE executed by Go's
// text/template (the engine Ollama uses) over .System and .Messages, with the Modelfile's SYSTEM inserted as
// the first message when the conversation has no system message, and consecutive messages of one role joined
// by a blank line (Ollama's collate). The test client for the Modelfile `factory export` writes.
// Usage: go run ollama_render.go Modelfile MESSAGES.json  (a JSON list of {"role", "content"}); prints the text.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// quoted returns the """-quoted value after `command` in the Modelfile, and whether there is one.
func quoted(modelfile, command string) (string, bool) {
	start := strings.Index(modelfile, "\n"+command+" \"\"\"")
	if start < 0 {
		return "", false
	}
	rest := modelfile[start+len(command)+5:]
	end := strings.Index(rest, "\"\"\"")
	if end < 0 {
		return "", false
	}
	return rest[:end], true
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ollama_render.go Modelfile MESSAGES.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	modelfile := "\n" + string(raw)
	source, ok := quoted(modelfile, "TEMPLATE")
	if !ok {
		fmt.Fprintln(os.Stderr, "no TEMPLATE in", os.Args[1])
		os.Exit(1)
	}
	tmpl, err := template.New("ollama").Parse(source)
	if err != nil {
		fmt.Fprintln(os.Stderr, "TEMPLATE does not parse:", err)
		os.Exit(1)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var messages []message
	if err := json.Unmarshal(data, &messages); err != nil {
		fmt.Fprintln(os.Stderr, os.Args[2], err)
		os.Exit(1)
	}
	if system, ok := quoted(modelfile, "SYSTEM"); ok && (len(messages) == 0 || messages[0].Role != "system") {
		messages = append([]message{{Role: "system", Content: system}}, messages...)
	}
	var systems []string
	var collated []*message
	for i := range messages {
		m := messages[i]
		if m.Role == "system" {
			systems = append(systems, m.Content)
		}
		if n := len(collated); n > 0 && collated[n-1].Role == m.Role {
			collated[n-1].Content += "\n\n" + m.Content
		} else {
			collated = append(collated, &m)
		}
	}
	values := map[string]any{"System": strings.Join(systems, "\n\n"), "Messages": collated, "Tools": nil, "Response": ""}
	if err := tmpl.Execute(os.Stdout, values); err != nil {
		fmt.Fprintln(os.Stderr, "TEMPLATE fails:", err)
		os.Exit(1)
	}
}
