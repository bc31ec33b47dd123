import { Module } from '@nestjs/common';

/** `POST /v1/chat/completions` arrives with its own issue; the module is here so the layout is. */
@Module({})
export class ChatModule {}
