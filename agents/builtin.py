"""Small general-purpose agents: useful in pipelines and as examples of the contract."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.base import Agent, AgentResult


class TextInput(BaseModel):
    """A piece of text."""

    text: str = Field(description="The text to work on")


class TextOutput(AgentResult):
    """A piece of text, with the agent's confidence and errors."""

    text: str


class WordCount(AgentResult):
    """Counts of a text."""

    text: str
    words: int = Field(ge=0)
    characters: int = Field(ge=0)


class EchoAgent(Agent[TextInput, TextOutput]):
    """Returns its input text unchanged."""

    name = "echo"
    description = "Return the input text unchanged"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        return TextOutput(text=data.text)


class UppercaseAgent(Agent[TextInput, TextOutput]):
    """Upper-cases its input text."""

    name = "uppercase"
    description = "Upper-case the input text"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        return TextOutput(text=data.text.upper())


class WordCountAgent(Agent[TextInput, WordCount]):
    """Counts words and characters; an empty text is reported as a warning."""

    name = "word_count"
    description = "Count words and characters of the input text"
    input_model = TextInput
    output_model = WordCount

    async def process(self, data: TextInput) -> WordCount:
        words = len(data.text.split())
        warnings = ["the text is empty"] if not data.text.strip() else []
        return WordCount(text=data.text, words=words, characters=len(data.text), warnings=warnings)
