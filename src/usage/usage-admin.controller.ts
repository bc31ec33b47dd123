import { Controller, Get, Headers, Query, StreamableFile } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators.js';
import { ErrorResponseDto } from '../common/errors/error-response.dto.js';
import { UsageRecordsQueryDto, UsageReportQueryDto } from './dto/usage-query.dto.js';
import { UsageRecordPageDto, UsageReportDto } from './dto/usage-report.response.js';
import { UsageAdminService } from './usage-admin.service.js';

@ApiTags('admin')
@AdminOnly()
@Controller('admin/usage')
export class UsageAdminController {
  constructor(private readonly usage: UsageAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Spend report grouped by model, api_key, team, day, provider or endpoint (JSON or CSV)' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: UsageReportDto, description: 'JSON; with Accept: text/csv or format=csv, the rows as CSV' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async report(
    @Query() query: UsageReportQueryDto,
    @Headers('accept') accept?: string,
  ): Promise<UsageReportDto | StreamableFile> {
    const report = await this.usage.report(query);
    if (query.format !== 'csv' && !(query.format === undefined && accept?.includes('text/csv'))) return report;
    return new StreamableFile(Buffer.from(this.usage.toCsv(report)), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="easel-usage-${report.group_by}.csv"`,
    });
  }

  @Get('records')
  @ApiOperation({ summary: 'Usage records, newest first, with cursor pagination' })
  @ApiOkResponse({ type: UsageRecordPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  records(@Query() query: UsageRecordsQueryDto): Promise<UsageRecordPageDto> {
    return this.usage.records(query);
  }
}
