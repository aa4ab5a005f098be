"""``write_modules``: write the chosen generation of modules into a folder, all at once.

In ``pipelines/synthforge-iac.yaml`` it comes after the feedback loop, so the folder holds
the attempt the loop returned (the valid one, or the best one) — not whichever attempt
happened to be generated last. The folder is written atomically, and an existing folder
is replaced only when it holds an earlier generation (see
:func:`agents.synthforge.iac.module_development.write_files`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agents.base import Agent, AgentSettings
from agents.synthforge.iac.models import GeneratedModules
from agents.synthforge.iac.module_development import write_files


class WriteModulesSettings(AgentSettings):
    """Settings of the ``write_modules`` agent."""

    output_dir: str = Field(
        default="iac", description="Folder to write the modules into (default: iac)"
    )
    force: bool = Field(
        default=False,
        description="Replace generated files even when they were edited since (default: false)",
    )


class WriteModulesAgent(Agent[GeneratedModules, GeneratedModules]):
    """Writes the files of a generation into ``output_dir`` and says where."""

    name = "write_modules"
    description = "Write generated modules into a folder, all at once"
    input_model = GeneratedModules
    output_model = GeneratedModules
    settings_model = WriteModulesSettings
    settings: WriteModulesSettings

    async def process(self, data: GeneratedModules) -> GeneratedModules:
        target = Path(self.settings.output_dir)
        write_files(target, data.files, force=self.settings.force)
        return data.model_copy(update={"output_dir": str(target)})
